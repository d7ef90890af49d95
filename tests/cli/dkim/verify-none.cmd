# a message without DKIM-Signature
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/msg.eml
