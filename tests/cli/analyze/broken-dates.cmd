# dates that do not parse (31 Feb, 25:61, garbage, a Date of no day), year 0102, AM/PM, TLS of Postfix and Exim, clock skew
smexop analyze @DATA@/analyze/broken-dates.eml
