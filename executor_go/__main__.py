from executor_go.spec import SPEC
from shared.executor import run_forever

if __name__ == "__main__":
    run_forever(SPEC)
