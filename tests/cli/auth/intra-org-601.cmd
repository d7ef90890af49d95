# the same, but contoso.com is one of our accepted domains: intra-org spoof, reason=601
smexop auth --ip 192.168.1.8 --helo mail.maliciousdomain.com --mail-from chris@maliciousdomain.com --accepted-domain contoso.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/eop-fail.eml
