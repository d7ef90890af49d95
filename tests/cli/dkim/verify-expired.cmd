# x= in the past at --now
smexop dkim verify --now 1790003700 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-expire.eml
