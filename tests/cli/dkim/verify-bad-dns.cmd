# --dns must be HOST:PORT
smexop dkim verify --dns nowhere @CASES@/msg.eml
exit 2
