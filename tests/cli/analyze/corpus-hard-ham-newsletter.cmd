# SpamAssassin hard_ham: a newsletter with 12 Received fields
smexop analyze @DATA@/analyze/sa-hard_ham.00165.eml
