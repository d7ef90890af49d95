# a dkimpy signature (simple/simple, l=)
smexop dkim verify --now 1800000000 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-dkimpy.eml
