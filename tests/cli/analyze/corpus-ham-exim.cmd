# SpamAssassin easy_ham: Exim hops ([ip] helo=...) through a mailing list
smexop analyze @DATA@/analyze/sa-easy_ham.01197.eml
