# --timestamp must be a number
smexop dkim sign --domain example.com --selector ed --key @DATA@/dkim/ed25519.pem --timestamp now @CASES@/msg.eml
exit 2
