# SpamAssassin spam_2: 15 Received fields, one hop days old (a resent spam)
smexop analyze @DATA@/analyze/sa-spam_2.00705.eml
