# t= far beyond now + clock skew
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-future.eml
