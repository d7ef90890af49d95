# --spoof-allow needs DOMAIN,INFRA
smexop auth --ip 10.2.3.4 --helo a.example --mail-from a@a.example --spoof-allow example.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/eop-pass.eml
exit 2
