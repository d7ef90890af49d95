# --ip is required
smexop auth --helo a.example --mail-from a@a.example --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/eop-pass.eml
exit 2
