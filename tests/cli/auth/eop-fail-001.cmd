# EOP's second example: From contoso.com (no records), SPF none and DKIM pass for maliciousdomain.com: compauth=fail reason=001
smexop auth --ip 192.168.1.8 --helo mail.maliciousdomain.com --mail-from chris@maliciousdomain.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/eop-fail.eml
