# the same as JSON: unknown times are null
smexop analyze --json @DATA@/analyze/broken-dates.eml
