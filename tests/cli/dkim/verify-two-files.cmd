# only one FILE
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/msg.eml @CASES@/msg.eml
exit 2
