# SpamAssassin spam_2: a Received date as "Jun, 03 2002 8:30:03 AM -0300"
smexop analyze @DATA@/analyze/sa-spam_2.01394.eml
