"""Kubernetes deployment helpers: run-config checks, ZenML pod/CronJob manifests, kustomize rendering and
ZenML stack registration for the cluster.

Kept outside the core ``rgd`` package because these modules import ZenML and the Kubernetes client.
"""
