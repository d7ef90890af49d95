# a libopendkim signature (simple/relaxed)
smexop dkim verify --now 1800000000 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-opendkim.eml
