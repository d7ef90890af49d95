# l= with text appended after the signed body: pass, the tail is reported
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone --json @CASES@/signed-l.eml
