# usage error
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone --frobnicate @CASES@/msg.eml
exit 2
