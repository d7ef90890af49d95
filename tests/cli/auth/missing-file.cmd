# an unreadable message is an input error
smexop auth --ip 10.2.3.4 --helo a.example --mail-from a@a.example --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/no-such.eml
exit 2
