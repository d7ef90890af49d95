# the same with lists.example.org a trusted ARC sealer: pass reason=130, action=oreject
smexop auth --ip 198.51.100.25 --helo lists.example.org --mail-from alice@example.com --trusted-arc-sealer lists.example.org --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/list-sealed.eml
