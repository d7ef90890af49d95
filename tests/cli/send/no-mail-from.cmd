# --mail-from is required: usage error, exit 2
smexop send --rcpt u@example.com
exit 2
