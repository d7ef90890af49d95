# SpamAssassin spam_2: dates with the year written 0102 (tm_year printed as is)
smexop analyze @DATA@/analyze/sa-spam_2.01101.eml
