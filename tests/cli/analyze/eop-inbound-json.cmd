# the same as JSON
smexop analyze --json @DATA@/analyze/eop-inbound.eml
