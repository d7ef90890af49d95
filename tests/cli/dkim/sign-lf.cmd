# a bare-LF message from standard input
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/rsa2048.pem
stdin @CASES@/msg-lf.eml
