# the same as JSON
smexop analyze --json @DATA@/analyze/nazario-phishing1.0452.eml
