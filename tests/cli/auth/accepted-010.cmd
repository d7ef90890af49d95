# the same with example.com one of our accepted domains: reason=010
smexop auth --ip 203.0.113.7 --helo smtp.out.northwind.example --mail-from alice@example.com --accepted-domain example.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/example.eml
