# a key with t=y: pass, flagged testing
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone --json @CASES@/signed-testing.eml
