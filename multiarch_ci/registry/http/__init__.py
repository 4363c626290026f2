"""registry/http"""
