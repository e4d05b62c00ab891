module github.com/eni-ipam/eni-ipam/cni/plugin

go 1.19
