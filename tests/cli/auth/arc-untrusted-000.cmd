# example-signed.eml through lists.example.org, which added a footer (DKIM breaks) and sealed ARC saying dmarc=pass: without trusting the sealer, DMARC fails under p=reject: reason=000
smexop auth --ip 198.51.100.25 --helo lists.example.org --mail-from alice@example.com --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/list-sealed.eml
