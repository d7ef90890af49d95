# a domain that does not exist fails (5.4.4); an MX host without an address defers; exit 1
smexop send --dns-zone @CASES@/send.zone --mail-from a@example.org --rcpt u@nxdomain.example --rcpt w@nohost.example @CASES@/msg.eml
exit 1
