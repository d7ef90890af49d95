# SpamAssassin easy_ham: 14 Received fields (qmail, Sendmail, Postfix, fetchmail), clock skew, a qmail-scanner date that is not a date
smexop analyze @DATA@/analyze/sa-easy_ham.00963.eml
