"""registry/auth"""
