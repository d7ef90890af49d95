# Nazario phishing corpus: 11 Received fields, Postfix and amavisd-new, an empty by clause
smexop analyze @DATA@/analyze/nazario-phishing1.0452.eml
