-- wrk script: POST the file named by the BODY_FILE environment variable
-- with the content type in CONTENT_TYPE.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
