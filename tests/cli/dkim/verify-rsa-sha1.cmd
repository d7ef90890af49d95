# rsa-sha1 (signed by opendkim-testmsg) is refused, RFC 8301
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-rsa-sha1.eml
