# EOP's first example: SPF passes for fabrikam.com, no DKIM, no DMARC record: dmarc=bestguesspass, compauth=pass reason=109
smexop auth --ip 10.2.3.4 --helo mail.fabrikam.com --mail-from chris@fabrikam.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/eop-pass.eml
