# the same with the admin allowing example.com from 203.0.113.0/24: pass reason=701, the reject is lifted (action=oreject)
smexop auth --ip 203.0.113.7 --helo smtp.out.northwind.example --mail-from alice@example.com --spoof-allow example.com,203.0.113.0/24 --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/example.eml
