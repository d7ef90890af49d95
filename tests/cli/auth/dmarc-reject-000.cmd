# example.com (p=reject) from an outside server, unsigned: explicit fail, reason=000, action=reject
smexop auth --ip 203.0.113.7 --helo smtp.out.northwind.example --mail-from alice@example.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/example.eml
