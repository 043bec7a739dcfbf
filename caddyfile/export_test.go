package caddyfile

// AppConfig lets the external tests compare the mirror with the root App.
type AppConfig = appConfig
