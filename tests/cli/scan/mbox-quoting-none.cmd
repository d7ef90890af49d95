# --mbox-quoting none keeps the >From line; -j 2 keeps the input order
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 -j 2 --mbox-quoting none --ip 127.0.0.44 --helo mail.shop.example @CASES@/two.mbox
