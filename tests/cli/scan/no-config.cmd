# without -c there are no accepted domains: the recipients are not checked
smexop scan --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.23 --helo laptop.attacker.example --mail-from security@bank.example @DATA@/../../samples/spoof-dmarc-reject.eml
