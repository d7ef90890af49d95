# x= still ahead at --now
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-expire.eml
