# example.net: p=quarantine pct=50, SPF softfail, sample 99 is outside the 50%: action=pct.quarantine, still compauth=fail reason=000
smexop auth --ip 192.0.2.200 --helo forged.example.com --mail-from bob@example.net --sample 99 --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/net.eml
