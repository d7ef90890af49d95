# an mbox on standard input: two messages, >From unquoted (mboxrd), recipients from To, one outside our domains
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --json --ip 127.0.0.44 --helo mail.shop.example -
stdin @CASES@/two.mbox
