# --now must be a number
smexop dkim verify --now yesterday --dns-zone @DATA@/dkim/keys.zone @CASES@/msg.eml
exit 2
