# a null MX (RFC 7505) fails at once with 556 5.1.10, no connection; exit 1
smexop send --dns-zone @CASES@/send.zone --mail-from a@example.org --rcpt u@nullmx.example --rcpt v@nullmx.example @CASES@/msg.eml
exit 1
