# DANE-EE SPKI SHA-256 of a self-signed certificate (openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256sum)
smexop tlsa @CASES@/mx.pem
