module github.com/herd-health/herd

go 1.26.8
